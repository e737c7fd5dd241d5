// Faulty on purpose: the classic bug. It stores the total itself and returns nothing, so Lambda
// (with tumbling windows) treats every non-final invocation as failed and retries it.
let total = 0;
exports.handler = async (event) => {
  for (const r of event.Records) {
    total += JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString()).Item.sales;
  }
  console.log('total so far', total);
};
