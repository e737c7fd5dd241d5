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
