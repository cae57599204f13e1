//! How commands print: a human table by default, JSON with `--json`. Tables use comfy-table
//! (the terminal width when there is one); JSON is pretty-printed so that it diffs well.

use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;

/// Prints `value` as JSON.
pub fn json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// A table with a header row.
pub fn table<H: AsRef<str>>(header: &[H]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.iter().map(AsRef::as_ref));
    t
}

/// The first `n` characters of a hash, with an ellipsis.
pub fn short(hash: &str, n: usize) -> String {
    if hash.len() <= n {
        hash.to_owned()
    } else {
        format!("{}…", &hash[..n])
    }
}
