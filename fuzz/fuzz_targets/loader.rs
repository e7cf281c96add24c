//! The loader turns any pair of files (and any file name) into migrations or a load error
//! that names the file, never a panic. Input: name, up and down separated by NUL bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut parts = text.splitn(3, '\0');
    let (Some(name), Some(up), Some(down)) = (parts.next(), parts.next(), parts.next()) else { return };
    let up_path = format!("m/{name}/up.sql");
    let down_path = format!("m/{name}/down.sql");
    let files = [(up_path.as_str(), up), (down_path.as_str(), down)];
    if let Ok(ms) = dbguard::Loader::new().load_embedded("m", &files) {
        for m in ms {
            let _ = (m.version(), m.checksum());
        }
    }
});
