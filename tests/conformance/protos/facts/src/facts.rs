//! Lists the wire facts of a compiled FileDescriptorSet, one per line: files with package
//! and imports, messages (with nesting and map entries), fields with number, label, type and
//! oneof, enums with values, and rpcs. Comments, layout and options are not wire facts and
//! are not listed. Used by `fabric/tests/protos_descriptors.rs` and by `main.rs` here.

use prost_types::{DescriptorProto, EnumDescriptorProto, FileDescriptorSet};
use std::collections::BTreeSet;

fn message(file: &str, scope: &str, m: &DescriptorProto, out: &mut BTreeSet<String>) {
    let name = format!("{scope}.{}", m.name());
    let map_entry = m.options.as_ref().is_some_and(|o| o.map_entry());
    out.insert(format!(
        "message {name} file={file}{}",
        if map_entry { " map_entry" } else { "" }
    ));
    for f in &m.field {
        let oneof = f
            .oneof_index
            .and_then(|i| m.oneof_decl.get(i as usize))
            .map(|o| format!(" oneof={}", o.name()))
            .unwrap_or_default();
        let type_name = if f.type_name().is_empty() {
            String::new()
        } else {
            format!(" {}", f.type_name())
        };
        out.insert(format!(
            "field {name}.{} = {} {:?} {:?}{type_name}{oneof}",
            f.name(),
            f.number(),
            f.label(),
            f.r#type(),
        ));
    }
    for n in &m.nested_type {
        message(file, &name, n, out);
    }
    for e in &m.enum_type {
        enumeration(file, &name, e, out);
    }
}

fn enumeration(file: &str, scope: &str, e: &EnumDescriptorProto, out: &mut BTreeSet<String>) {
    let name = format!("{scope}.{}", e.name());
    out.insert(format!("enum {name} file={file}"));
    for v in &e.value {
        out.insert(format!("value {name}.{} = {}", v.name(), v.number()));
    }
}

/// Sorted fact lines for every file of `fds` except the well-known `google/` ones.
pub fn list(fds: &FileDescriptorSet) -> Vec<String> {
    let mut out = BTreeSet::new();
    for f in fds.file.iter().filter(|f| !f.name().starts_with("google/")) {
        let scope = format!(".{}", f.package());
        let mut imports = f.dependency.clone();
        imports.sort();
        out.insert(format!(
            "file {} package={} imports={}",
            f.name(),
            f.package(),
            imports.join(",")
        ));
        for m in &f.message_type {
            message(f.name(), &scope, m, &mut out);
        }
        for e in &f.enum_type {
            enumeration(f.name(), &scope, e, &mut out);
        }
        for s in &f.service {
            for m in &s.method {
                out.insert(format!(
                    "rpc {scope}.{}/{} ({}{}) returns ({}{})",
                    s.name(),
                    m.name(),
                    if m.client_streaming() { "stream " } else { "" },
                    m.input_type(),
                    if m.server_streaming() { "stream " } else { "" },
                    m.output_type(),
                ));
            }
        }
    }
    out.into_iter().collect()
}
