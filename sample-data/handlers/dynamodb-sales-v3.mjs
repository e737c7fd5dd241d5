// A DynamoDB Streams tumbling-window aggregator as an ES module, storing each window's total
// with the AWS SDK v3 document client (DynamoDBDocumentClient + PutCommand).
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';

const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));

export const handler = async (event) => {
  if (event.isFinalInvokeForWindow) {
    await client.send(
      new PutCommand({
        TableName: 'salesByWindow',
        Item: { shardId: event.shardId, windowStart: event.window.start, total: event.state.total ?? 0, orders: event.state.orders ?? 0 },
      }),
    );
    return { state: {} };
  }
  const state = { total: event.state.total ?? 0, orders: event.state.orders ?? 0 };
  for (const item of event.Records) {
    if (item.eventName !== 'INSERT') continue;
    state.total += parseInt(item.dynamodb.NewImage.sales.N, 10);
    state.orders += 1;
  }
  return { state };
};
