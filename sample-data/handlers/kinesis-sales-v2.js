// A Kinesis tumbling-window aggregator in the style of AWS's examples: it adds up the sales in
// each batch, passes the running total on in `state`, and on the final invocation stores the
// window's total in DynamoDB with the aws-sdk v2 DocumentClient.
const AWS = require('aws-sdk');
AWS.config.update({ region: process.env.AWS_REGION });
const docClient = new AWS.DynamoDB.DocumentClient();

exports.handler = async (event) => {
  if (event.isFinalInvokeForWindow) {
    console.log('Final invocation for', event.window.start, '- storing', JSON.stringify(event.state));
    const params = {
      TableName: 'tumblingWindowsTotals',
      Item: {
        shardId: event.shardId,
        windowStart: event.window.start,
        windowEnd: event.window.end,
        sales: event.state.sales || 0,
      },
    };
    await docClient.put(params).promise();
    return;
  }
  const state = event.state || {};
  let sales = state.sales || 0;
  for (const record of event.Records) {
    const payload = JSON.parse(Buffer.from(record.kinesis.data, 'base64').toString('utf8'));
    sales += payload.Item.sales;
  }
  console.log('Batch of', event.Records.length, 'records; running total', sales);
  return { state: { sales } };
};
