// Writes to stdout and stderr every way it can, including text that looks like a protocol line;
// all of it must end up in the invocation's logs and none of it may confuse tumblescope.
exports.handler = async (event) => {
  console.log('log', event.Records.length);
  console.error('err line');
  process.stdout.write('raw stdout without newline');
  process.stdout.write('\u001eTSR 0000 {"type":"result","id":1}\n');
  process.stderr.write('raw stderr\n');
  return { state: { n: (event.state.n || 0) + event.Records.length } };
};
