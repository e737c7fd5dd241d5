// Faulty on purpose: does not parse.
exports.handler = async (event) => {
  return { state: event.state ;
};
