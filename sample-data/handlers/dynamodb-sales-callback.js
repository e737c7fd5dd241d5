// Callback style, with the v2 DocumentClient's callback form: sums NewImage.sales per window
// and updates a running row per shard with an UpdateExpression.
const AWS = require('aws-sdk');
const docClient = new AWS.DynamoDB.DocumentClient();

exports.handler = function (event, context, callback) {
  if (event.isFinalInvokeForWindow) {
    docClient.update(
      {
        TableName: 'shardTotals',
        Key: { shardId: event.shardId },
        UpdateExpression: 'SET total = if_not_exists(total, :zero) + :sum, windows = if_not_exists(windows, :zero) + :one',
        ExpressionAttributeValues: { ':sum': event.state.sum || 0, ':zero': 0, ':one': 1 },
        ReturnValues: 'ALL_NEW',
      },
      (err, data) => {
        if (err) return callback(err);
        console.log('shard total now', data.Attributes.total, 'requestId', context.awsRequestId);
        callback(null, { state: event.state });
      },
    );
    return;
  }
  let sum = event.state.sum || 0;
  for (const r of event.Records) {
    if (r.dynamodb.NewImage) sum += Number(r.dynamodb.NewImage.sales.N);
  }
  callback(null, { state: { sum } });
};
