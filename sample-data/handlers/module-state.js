// Module-level variables, as handlers that cache clients or lookups keep them: the shards this
// runtime has served, and how many times it has run. On AWS concurrently processed shards run
// in different execution environments, so `seen` holds one shard. The final invocation stores
// the window in a table and reads back how many windows every shard has stored so far: the
// table is shared, the module variables are not.
const AWS = require('aws-sdk');
const doc = new AWS.DynamoDB.DocumentClient();

const seen = new Set();
let invocations = 0;

exports.handler = async (event) => {
  invocations += 1;
  seen.add(event.shardId);
  if (event.isFinalInvokeForWindow) {
    await doc
      .put({ TableName: 'windows', Item: { id: `${event.shardId}@${event.window.start}` } })
      .promise();
    const all = await doc.scan({ TableName: 'windows' }).promise();
    console.log('windows stored so far, all shards:', all.Items.length);
    return { state: { ...event.state, stored: String(all.Items.length) } };
  }
  return { state: { shards: [...seen].sort().join(','), invocations: String(invocations) } };
};
