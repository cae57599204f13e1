//! How commands print: a human table by default, JSON with `--json`. Tables use comfy-table
//! (the terminal width when there is one); JSON is pretty-printed so that it diffs well.
//!
//! Everything goes through [`outln!`] / [`out!`]: a `write!` on the locked stdout. When the
//! reader has gone away (`sfcbc records chain1 | head`), the write fails with `BrokenPipe`
//! and the process exits quietly with status 0, like well-behaved Unix tools, instead of
//! panicking as `println!` does. Any other write error is reported and exits 1.

use std::io::Write as _;

use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;

/// `println!` that exits quietly on a closed pipe (see the module docs).
macro_rules! outln {
    () => {
        $crate::cli::output::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::output::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}
/// `print!` that exits quietly on a closed pipe (see the module docs).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::output::write_stdout(format_args!($($arg)*))
    };
}
pub(crate) use {out, outln};

/// Writes to the locked stdout and flushes. A closed pipe ends the process with status 0
/// (nothing more can be shown to anyone); another error is reported and exits 1.
pub fn write_stdout(args: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    let result = stdout.write_fmt(args).and_then(|()| stdout.flush());
    if let Err(e) = result {
        exit_on_write_error(&e);
    }
}

/// What a failed stdout write does: exit 0 on `BrokenPipe`, else report and exit 1.
pub fn exit_on_write_error(e: &std::io::Error) -> ! {
    if is_broken_pipe(e) {
        std::process::exit(0);
    }
    // stderr may be gone too; nothing else to do then.
    let _ = writeln!(std::io::stderr(), "error: cannot write to stdout: {e}");
    std::process::exit(super::EXIT_FAILURE);
}

/// Whether a write failed because the reading end of the pipe was closed.
pub fn is_broken_pipe(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::BrokenPipe
}

/// Prints `value` as JSON.
pub fn json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    outln!("{}", serde_json::to_string_pretty(value)?);
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
