//! The output folder's lock: one render at a time, and no `--check` while one writes.

use super::*;

/// The output folder's lock, held until dropped.
pub(super) struct FolderLock {
    /// Closing it releases the lock.
    _handle: Option<fs::File>,
    #[cfg(not(unix))]
    path: PathBuf,
}

impl FolderLock {
    /// Take the folder's lock without waiting: exclusive for a render, shared for `--check`.
    #[cfg(unix)]
    pub(super) fn take(out_dir: &Path, exclusive: bool) -> Result<Self, WriteError> {
        use std::os::fd::AsRawFd as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let handle = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
            .open(out_dir)
            .map_err(io(out_dir))?;
        let operation = if exclusive {
            libc::LOCK_EX
        } else {
            libc::LOCK_SH
        };
        // SAFETY: flock on a descriptor this function owns; no memory is passed.
        if unsafe { libc::flock(handle.as_raw_fd(), operation | libc::LOCK_NB) } != 0 {
            let e = std::io::Error::last_os_error();
            return Err(if e.kind() == std::io::ErrorKind::WouldBlock {
                WriteError::Locked(out_dir.to_path_buf())
            } else {
                WriteError::Io(out_dir.to_path_buf(), e)
            });
        }
        Ok(Self {
            _handle: Some(handle),
        })
    }

    /// Elsewhere, a lock file that only one process can create (a killed render leaves it).
    #[cfg(not(unix))]
    pub(super) fn take(out_dir: &Path, exclusive: bool) -> Result<Self, WriteError> {
        let path = out_dir.join(".wcigen-lock");
        if !exclusive {
            return if path.exists() {
                Err(WriteError::Locked(out_dir.to_path_buf()))
            } else {
                Ok(Self {
                    _handle: None,
                    path: PathBuf::new(),
                })
            };
        }
        let handle = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => WriteError::Locked(out_dir.to_path_buf()),
                _ => WriteError::Io(path.clone(), e),
            })?;
        Ok(Self {
            _handle: Some(handle),
            path,
        })
    }
}

#[cfg(not(unix))]
impl Drop for FolderLock {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.path);
        }
    }
}
