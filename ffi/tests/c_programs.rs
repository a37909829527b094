//! Compiles and runs the C11 test program and the C++17 example against the freshly built
//! libtaskgroup, with `-Wall -Wextra -Werror -pedantic`.

mod common;

use std::process::Command;

use common::{compile, out_dir, repo_root, run};

fn c_test(static_link: bool) {
    let dir = out_dir(if static_link { "c-static" } else { "c-shared" });
    let exe = dir.join("test_taskgroup");
    let src = repo_root().join("ffi/tests/c/test_taskgroup.c");
    compile("gcc", "c11", &[src], &exe, static_link);
    let out = run(&mut Command::new(&exe));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("checks passed"), "{stdout}");
}

#[test]
fn c_test_program_passes_with_the_shared_library() {
    c_test(false);
}

#[test]
fn c_test_program_passes_with_the_static_library() {
    c_test(true);
}

#[test]
fn cpp_example_groups_and_drives_a_session() {
    let dir = out_dir("cpp-example");
    let exe = dir.join("example");
    let src = repo_root().join("ffi/examples/c++/example.cpp");
    compile("g++", "c++17", &[src], &exe, false);

    let out = run(&mut Command::new(&exe));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("k=3 groups: {0 1 2} {3 4 5} {6 7 8}"),
        "{stdout}"
    );
    assert!(stdout.contains("certified yes"), "{stdout}");
    assert!(stdout.contains("elbow picks k=3"), "{stdout}");
    assert!(stdout.contains("expected error: "), "{stdout}");
    assert!(stdout.contains("checkpoint: "), "{stdout}");
    assert!(
        stdout.contains("session groups: {0 1 2} {3 4 5} {6 7 8}"),
        "{stdout}"
    );

    let csv = repo_root().join("examples/affinity-12.csv");
    let out = run(Command::new(&exe).arg(csv));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "k=3 groups: {sst2 imdb yelp copa} {rte mnli qnli cola} {squad nq triviaqa boolq}"
        ),
        "{stdout}"
    );
}
