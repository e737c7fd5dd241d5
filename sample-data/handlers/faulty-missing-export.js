// Faulty on purpose: exports `main`, not `handler`.
exports.main = async (event) => ({ state: event.state });
