// Faulty on purpose: throws on an order with a suspiciously high sale. Lambda retries the
// batch; with bisection and a retry limit the bad record ends in the on-failure destination.
exports.handler = async (event) => {
  if (event.isFinalInvokeForWindow) return { state: event.state };
  let sales = event.state.sales || 0;
  for (const r of event.Records) {
    const order = JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString());
    if (order.Item.sales >= 97) {
      throw new RangeError('sale ' + order.Item.sales + ' of order ' + order.Item.orderId + ' looks like a typo');
    }
    sales += order.Item.sales;
  }
  return { state: { sales } };
};
