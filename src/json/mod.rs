//! JSON helpers shared by every layer, with no knowledge of streams or Lambda: reading a value
//! at a path without parsing the whole document ([`path`]), writing JSON text into buffers
//! ([`write`](mod@write)), handling JSON as text ([`text`]) and DynamoDB's typed attribute form
//! ([`dynamodb`]).

pub mod dynamodb;
pub mod path;
pub mod text;
pub mod write;
