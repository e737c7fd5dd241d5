// Stand-in for `aws-sdk` (v2): DynamoDB and its DocumentClient on the in-memory store.
'use strict';

const store = require('./store.cjs');

// A v2 request: `.promise()` or a callback, as the real SDK offers.
function request(run, cb) {
  const req = {
    promise: () => new Promise((resolve, reject) => {
      try {
        resolve(run());
      } catch (e) {
        reject(e);
      }
    }),
    send: (done) => {
      try {
        done(null, run());
      } catch (e) {
        done(e);
      }
    },
  };
  if (typeof cb === 'function') setImmediate(() => req.send(cb));
  return req;
}

function batchWrite(params, typed) {
  for (const [name, reqs] of Object.entries(params.RequestItems || {})) {
    for (const r of reqs) {
      if (r.PutRequest) store.put(name, typed ? store.unmarshallItem(r.PutRequest.Item) : r.PutRequest.Item);
      if (r.DeleteRequest) store.del(name, typed ? store.unmarshallItem(r.DeleteRequest.Key) : r.DeleteRequest.Key);
    }
  }
  return { UnprocessedItems: {} };
}

class DocumentClient {
  constructor(options) {
    this.options = options || {};
  }

  put(p, cb) {
    return request(() => {
      const old = store.put(p.TableName, p.Item);
      return p.ReturnValues === 'ALL_OLD' && store.read(old) ? { Attributes: old } : {};
    }, cb);
  }

  get(p, cb) {
    return request(() => {
      const item = store.get(p.TableName, p.Key);
      return item ? { Item: item } : {};
    }, cb);
  }

  delete(p, cb) {
    return request(() => {
      const old = store.del(p.TableName, p.Key);
      return p.ReturnValues === 'ALL_OLD' && store.read(old) ? { Attributes: old } : {};
    }, cb);
  }

  update(p, cb) {
    return request(() => {
      const item = store.update(p.TableName, p.Key, p.UpdateExpression, p.ExpressionAttributeValues, p.ExpressionAttributeNames);
      return p.ReturnValues && p.ReturnValues !== 'NONE' ? { Attributes: item } : {};
    }, cb);
  }

  batchWrite(p, cb) {
    return request(() => batchWrite(p, false), cb);
  }

  scan(p, cb) {
    return request(() => {
      const items = store.scan(p.TableName);
      return { Items: items, Count: items.length, ScannedCount: items.length };
    }, cb);
  }
}

class DynamoDB {
  constructor(options) {
    this.options = options || {};
  }

  putItem(p, cb) {
    return request(() => {
      store.put(p.TableName, store.unmarshallItem(p.Item));
      return {};
    }, cb);
  }

  getItem(p, cb) {
    return request(() => {
      const item = store.get(p.TableName, store.unmarshallItem(p.Key));
      return item ? { Item: store.marshallItem(item) } : {};
    }, cb);
  }

  deleteItem(p, cb) {
    return request(() => {
      store.del(p.TableName, store.unmarshallItem(p.Key));
      return {};
    }, cb);
  }

  updateItem(p, cb) {
    return request(() => {
      const values = p.ExpressionAttributeValues ? store.unmarshallItem(p.ExpressionAttributeValues) : {};
      const item = store.update(p.TableName, store.unmarshallItem(p.Key), p.UpdateExpression, values, p.ExpressionAttributeNames);
      return p.ReturnValues && p.ReturnValues !== 'NONE' ? { Attributes: store.marshallItem(item) } : {};
    }, cb);
  }

  batchWriteItem(p, cb) {
    return request(() => batchWrite(p, true), cb);
  }
}
DynamoDB.DocumentClient = DocumentClient;
DynamoDB.Converter = { marshall: store.marshallItem, unmarshall: store.unmarshallItem };

const config = {
  region: process.env.AWS_REGION,
  update(o) {
    Object.assign(config, o || {});
  },
};

module.exports.DynamoDB = DynamoDB;
module.exports.config = config;
module.exports.Config = class Config {
  constructor(o) {
    Object.assign(this, o || {});
  }
};
