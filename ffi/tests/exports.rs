//! Every function of the header is exported by the library (and nothing else is), its address
//! can be taken from C and from Rust, and the header's version macros agree with Cargo.toml.

mod common;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::process::Command;

use common::{compile, header_functions, include_dir, lib_dir, out_dir, run};

/// Every exported function, by name and address (a missing one fails the build).
fn rust_exports() -> Vec<(&'static str, *const ())> {
    /// `(name, address)` of each named function of the library.
    macro_rules! exports {
        ($($f:ident),* $(,)?) => {
            vec![$((stringify!($f), taskgroup::$f as *const ())),*]
        };
    }
    exports![
        taskgroup_version,
        tg_status_message,
        tg_last_error_message,
        tg_options_default,
        tg_k_search_default,
        tg_group,
        tg_group_auto,
        tg_group_auto_table,
        tg_normalize,
        tg_session_settings_default,
        tg_session_new,
        tg_session_free,
        tg_session_get_progress,
        tg_session_next_requests,
        tg_session_report,
        tg_request_id_parse,
        tg_session_advance,
        tg_session_groups,
        tg_session_save,
        tg_session_load,
        tg_session_affinity,
        tg_session_results,
        tg_session_confidence,
        tg_aggregate_options_default,
        tg_affinity_builder_new,
        tg_affinity_builder_add,
        tg_affinity_builder_compute,
        tg_affinity_builder_free,
    ]
}

#[test]
fn rust_exports_are_the_header_functions() {
    let rust: BTreeSet<String> = rust_exports()
        .into_iter()
        .map(|(name, addr)| {
            assert!(!addr.is_null(), "{name}");
            name.to_string()
        })
        .collect();
    let header: BTreeSet<String> = header_functions().into_iter().collect();
    assert_eq!(
        rust, header,
        "update rust_exports() or regenerate the header"
    );
}

#[test]
fn every_header_function_links_from_c() {
    let names = header_functions();
    assert!(names.len() >= 20, "{names:?}");
    let mut src = String::from("#include <stdio.h>\n#include \"taskgroup.h\"\n");
    src.push_str("typedef void (*fn_ptr)(void);\nstatic fn_ptr volatile symbols[] = {\n");
    for n in &names {
        writeln!(src, "    (fn_ptr){n},").unwrap();
    }
    src.push_str("};\nint main(void) {\n    size_t count = sizeof symbols / sizeof symbols[0];\n");
    src.push_str("    for (size_t i = 0; i < count; i++) {\n        if (symbols[i] == NULL) {\n");
    src.push_str("            return 1;\n        }\n    }\n");
    src.push_str("    printf(\"%zu symbols\\n\", count);\n    return 0;\n}\n");
    let dir = out_dir("symbols");
    let c = dir.join("symbols.c");
    std::fs::write(&c, src).unwrap();
    for static_link in [false, true] {
        let exe = dir.join(if static_link {
            "symbols-static"
        } else {
            "symbols"
        });
        compile("gcc", "c11", std::slice::from_ref(&c), &exe, static_link);
        let out = run(&mut Command::new(&exe));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            format!("{} symbols", names.len())
        );
    }
}

#[test]
fn the_shared_library_exports_exactly_the_header_functions() {
    let out = run(Command::new("nm")
        .args(["-D", "--defined-only", "--format=posix"])
        .arg(lib_dir().join("libtaskgroup.so")));
    let exported: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|s| s.starts_with("tg_") || s.starts_with("taskgroup_"))
        .map(str::to_string)
        .collect();
    let header: BTreeSet<String> = header_functions().into_iter().collect();
    assert_eq!(exported, header);
}

#[test]
fn header_version_macros_match_cargo_toml() {
    let text = std::fs::read_to_string(include_dir().join("taskgroup.h")).unwrap();
    let define = |name: &str| -> String {
        let prefix = format!("#define {name} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no {name} in the header"))
            .trim()
            .to_string()
    };
    assert_eq!(
        define("TASKGROUP_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MAJOR")
    );
    assert_eq!(
        define("TASKGROUP_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_MINOR")
    );
    assert_eq!(
        define("TASKGROUP_VERSION_PATCH"),
        env!("CARGO_PKG_VERSION_PATCH")
    );
    // SAFETY: a static NUL-terminated string.
    let v = unsafe { std::ffi::CStr::from_ptr(taskgroup::taskgroup_version()) };
    assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    assert_eq!(taskgroup::TASKGROUP_VERSION, env!("CARGO_PKG_VERSION"));
}
