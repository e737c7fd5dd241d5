// Stand-in for `@aws-sdk/client-dynamodb` (v3): commands on the in-memory store, typed items.
'use strict';

const store = require('./store.cjs');

class Command {
  constructor(input) {
    this.input = input || {};
  }
}

class PutItemCommand extends Command {
  run() {
    store.put(this.input.TableName, store.unmarshallItem(this.input.Item));
    return {};
  }
}

class GetItemCommand extends Command {
  run() {
    const item = store.get(this.input.TableName, store.unmarshallItem(this.input.Key));
    return item ? { Item: store.marshallItem(item) } : {};
  }
}

class DeleteItemCommand extends Command {
  run() {
    store.del(this.input.TableName, store.unmarshallItem(this.input.Key));
    return {};
  }
}

class UpdateItemCommand extends Command {
  run() {
    const p = this.input;
    const values = p.ExpressionAttributeValues ? store.unmarshallItem(p.ExpressionAttributeValues) : {};
    const item = store.update(p.TableName, store.unmarshallItem(p.Key), p.UpdateExpression, values, p.ExpressionAttributeNames);
    return p.ReturnValues && p.ReturnValues !== 'NONE' ? { Attributes: store.marshallItem(item) } : {};
  }
}

class BatchWriteItemCommand extends Command {
  run() {
    for (const [name, reqs] of Object.entries(this.input.RequestItems || {})) {
      for (const r of reqs) {
        if (r.PutRequest) store.put(name, store.unmarshallItem(r.PutRequest.Item));
        if (r.DeleteRequest) store.del(name, store.unmarshallItem(r.DeleteRequest.Key));
      }
    }
    return { UnprocessedItems: {} };
  }
}

class DynamoDBClient {
  constructor(config) {
    this.config = config || {};
  }

  async send(command) {
    if (!command || typeof command.run !== 'function') {
      throw Object.assign(new Error('tumblescope stand-in: unsupported command ' + (command && command.constructor && command.constructor.name)), { name: 'UnsupportedCommand' });
    }
    return { $metadata: { httpStatusCode: 200 }, ...command.run() };
  }

  destroy() {}
}

module.exports.DynamoDBClient = DynamoDBClient;
module.exports.DynamoDB = DynamoDBClient;
module.exports.PutItemCommand = PutItemCommand;
module.exports.GetItemCommand = GetItemCommand;
module.exports.DeleteItemCommand = DeleteItemCommand;
module.exports.UpdateItemCommand = UpdateItemCommand;
module.exports.BatchWriteItemCommand = BatchWriteItemCommand;
