//! Panels: each reads state and pushes commands.

pub mod capture;
pub mod find;
pub mod inspector;
pub mod json_tree;
pub mod menu;
pub mod plots;
pub mod setup;
pub mod stepper;
pub mod timeline;
pub mod window_view;

/// What a row shows while its payload is read from the input file in the background.
pub const READING: &str = "reading from the file…";

/// Record `i`'s payload as text for a row or tooltip, cut to about `max` bytes (`…` marks a
/// cut), or [`READING`] until it is read: a frame never waits on the file.
pub fn payload_text(stream: &crate::model::stream::Stream, i: usize, max: usize) -> String {
    let Some(bytes) = stream.payload_now(i) else {
        return READING.to_owned();
    };
    let text = String::from_utf8_lossy(&bytes);
    if text.len() > max {
        format!("{}…", &text[..text.floor_char_boundary(max)])
    } else {
        text.into_owned()
    }
}
