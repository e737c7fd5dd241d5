// Stand-in for `@aws-sdk/lib-dynamodb` (v3 document client): plain JavaScript items.
'use strict';

const store = require('./store.cjs');

class Command {
  constructor(input) {
    this.input = input || {};
  }
}

class PutCommand extends Command {
  run() {
    const old = store.put(this.input.TableName, this.input.Item);
    return this.input.ReturnValues === 'ALL_OLD' && store.read(old) ? { Attributes: old } : {};
  }
}

class GetCommand extends Command {
  run() {
    const item = store.get(this.input.TableName, this.input.Key);
    return item ? { Item: item } : {};
  }
}

class DeleteCommand extends Command {
  run() {
    store.del(this.input.TableName, this.input.Key);
    return {};
  }
}

class UpdateCommand extends Command {
  run() {
    const p = this.input;
    const item = store.update(p.TableName, p.Key, p.UpdateExpression, p.ExpressionAttributeValues, p.ExpressionAttributeNames);
    return p.ReturnValues && p.ReturnValues !== 'NONE' ? { Attributes: item } : {};
  }
}

class BatchWriteCommand extends Command {
  run() {
    for (const [name, reqs] of Object.entries(this.input.RequestItems || {})) {
      for (const r of reqs) {
        if (r.PutRequest) store.put(name, r.PutRequest.Item);
        if (r.DeleteRequest) store.del(name, r.DeleteRequest.Key);
      }
    }
    return { UnprocessedItems: {} };
  }
}

class ScanCommand extends Command {
  run() {
    const items = store.scan(this.input.TableName);
    return { Items: items, Count: items.length, ScannedCount: items.length };
  }
}

class DynamoDBDocumentClient {
  constructor(client) {
    this.client = client;
  }

  static from(client) {
    return new DynamoDBDocumentClient(client);
  }

  async send(command) {
    if (!command || typeof command.run !== 'function') {
      // Low-level commands sent through the document client.
      if (this.client && typeof this.client.send === 'function') return this.client.send(command);
      throw Object.assign(new Error('tumblescope stand-in: unsupported command'), { name: 'UnsupportedCommand' });
    }
    return { $metadata: { httpStatusCode: 200 }, ...command.run() };
  }

  destroy() {}
}

module.exports.DynamoDBDocumentClient = DynamoDBDocumentClient;
module.exports.DynamoDBDocument = DynamoDBDocumentClient;
module.exports.PutCommand = PutCommand;
module.exports.GetCommand = GetCommand;
module.exports.DeleteCommand = DeleteCommand;
module.exports.UpdateCommand = UpdateCommand;
module.exports.BatchWriteCommand = BatchWriteCommand;
module.exports.ScanCommand = ScanCommand;
