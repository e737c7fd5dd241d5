// Faulty on purpose: calls process.exit when it meets an order with no sale, which kills the
// runtime mid-invocation (Runtime.ExitError); the next invocation starts a fresh runtime.
exports.handler = async (event) => {
  for (const r of event.Records) {
    const order = JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString());
    if (order.Item.sales < 3) {
      console.error('almost no sale in', order.Item.orderId, '- giving up');
      process.exit(2);
    }
  }
  return { state: { ok: true } };
};
