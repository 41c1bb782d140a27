//! Placeholder: the superpowers importer is being written.

use super::{Detection, LoadError, Loaded};
use std::path::Path;

pub(crate) fn detect(_path: &Path) -> Detection {
    Detection::No
}

pub(crate) fn load(path: &Path) -> Result<Loaded, LoadError> {
    Err(LoadError::WrongFormat {
        path: path.to_owned(),
        format: super::Format::Superpowers,
        reason: "not supported yet".to_owned(),
    })
}
