//! Reading a component from the path a user gave: only a regular file, at most
//! `transform.limits.max_component_mb`, and only a WebAssembly binary. A FIFO, a device, a
//! directory, a sparse giant or a text file is refused at once with a short message naming
//! the path, before anything tries to compile it.

use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// The first bytes of every WebAssembly binary.
const WASM_MAGIC: [u8; 4] = *b"\0asm";
/// Version and layer of a core module (`01 00 00 00`) and of a component (`0d 00 01 00`).
const CORE_MODULE: [u8; 4] = [1, 0, 0, 0];

/// The bytes of the component at `path`, or why it cannot be one.
pub(crate) fn read(path: &Path, max_bytes: u64) -> Result<Vec<u8>, String> {
    // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused just below).
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| format!("cannot read: {e}"))?;
    let meta = file.metadata().map_err(|e| format!("cannot read: {e}"))?;
    let kind = meta.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a directory"
        } else if kind.is_fifo() {
            "a named pipe (FIFO)"
        } else if kind.is_char_device() {
            "a character device"
        } else if kind.is_block_device() {
            "a block device"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        };
        return Err(format!(
            "is {what}; a transform must be a .wasm component file"
        ));
    }
    if meta.len() > max_bytes {
        return Err(too_large(meta.len(), max_bytes));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_large(bytes.len() as u64, max_bytes));
    }
    check_header(&bytes)?;
    Ok(bytes)
}

fn too_large(len: u64, max: u64) -> String {
    super::LimitExceeded {
        limit: super::Limit::ComponentSize,
        used: Some(len),
        max,
    }
    .to_string()
}

/// A WebAssembly component binary starts with the magic and the component layer.
fn check_header(bytes: &[u8]) -> Result<(), String> {
    if bytes.len() < 8 || bytes[..4] != WASM_MAGIC {
        return Err(format!(
            "is not a WebAssembly component (a .wasm binary starts with \\0asm; this file starts with {})",
            shown_start(bytes)
        ));
    }
    if bytes[4..8] == CORE_MODULE {
        return Err(
            "is a core WebAssembly module, not a component: build it for wasm32-wasip2, or wrap \
             it with `wasm-tools component new` (see wit/README.md)"
                .into(),
        );
    }
    Ok(())
}

/// At most 16 leading bytes, printable ASCII as is and the rest escaped: enough to recognise
/// a file, never a flood.
fn shown_start(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "nothing: the file is empty".into();
    }
    let head: String = bytes
        .iter()
        .take(16)
        .flat_map(|b| std::ascii::escape_default(*b))
        .map(char::from)
        .collect();
    let more = if bytes.len() > 16 { "…" } else { "" };
    format!("\"{head}{more}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_small_regular_component_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let component = dir.path().join("ok.wasm");
        std::fs::write(&component, b"\0asm\x0d\x00\x01\x00rest").unwrap();
        assert_eq!(read(&component, 1024).unwrap().len(), 12);

        let err = read(dir.path(), 1024).unwrap_err();
        assert!(err.contains("is a directory"), "{err}");

        let err = read(Path::new("/dev/zero"), 1024).unwrap_err();
        assert!(err.contains("character device"), "{err}");

        let fifo = dir.path().join("pipe.wasm");
        let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        let err = read(&fifo, 1024).unwrap_err();
        assert!(err.contains("named pipe"), "{err}");

        let sparse = dir.path().join("sparse.wasm");
        let file = std::fs::File::create(&sparse).unwrap();
        file.set_len(8 << 30).unwrap();
        let err = read(&sparse, 256 << 20).unwrap_err();
        assert!(err.contains("max_component_mb"), "{err}");

        let text = dir.path().join("notes.wasm");
        std::fs::write(&text, "x".repeat(1 << 20)).unwrap();
        let err = read(&text, 256 << 20).unwrap_err();
        assert!(err.len() < 200, "a short message: {err}");
        assert!(err.contains("\"xxxxxxxxxxxxxxxx…\""), "{err}");

        let module = dir.path().join("core.wasm");
        std::fs::write(&module, b"\0asm\x01\x00\x00\x00").unwrap();
        assert!(read(&module, 1024)
            .unwrap_err()
            .contains("core WebAssembly module"));

        let empty = dir.path().join("empty.wasm");
        std::fs::write(&empty, b"").unwrap();
        assert!(read(&empty, 1024)
            .unwrap_err()
            .contains("the file is empty"));
    }
}
