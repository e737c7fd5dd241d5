// Faulty on purpose: when it meets order o-00000007 it waits for a promise that never settles,
// so that invocation hits the function timeout.
exports.handler = async (event) => {
  for (const r of event.Records) {
    const order = JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString());
    if (order.Item.orderId === 'o-00000007') {
      console.log('waiting for a reply that never comes');
      await new Promise(() => {});
    }
  }
  return { state: { n: (event.state.n || 0) + event.Records.length } };
};
