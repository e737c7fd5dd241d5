// Faulty on purpose: keeps every record's payload in state, so state grows past 1 MB and Lambda
// terminates the window early.
exports.handler = async (event) => {
  if (event.isFinalInvokeForWindow || event.isWindowTerminatedEarly) {
    console.log('flushing', Object.keys(event.state).length, 'entries');
    return { state: {} };
  }
  const state = { ...event.state };
  for (const r of event.Records) state[r.kinesis.sequenceNumber] = r.kinesis.data.repeat(400);
  return { state };
};
