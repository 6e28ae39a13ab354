//! The lab: from the bytes of a lab file to a [`validate::ValidLab`], the only thing the
//! renderers accept.
//!
//! Why a stage of its own: everything a user can get wrong is decided here, once, with a
//! location for each problem, so that rendering never meets an invalid lab.
//!
//! ```text
//! source (bounded read, spans) ─▶ load (YAML → LabSpec, structural check against the schema)
//!   ─▶ validate (semantic rules, against facts) ─▶ ValidLab
//! ```
//!
//! May import: `diag` (wording), and its own modules. Never a later stage (`render`, `output`).

pub mod facts;
pub mod load;
pub mod model;
pub mod secret;
pub mod source;
pub mod validate;
