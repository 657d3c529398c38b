"""e2e_test: an end-to-end gtest in tests/ that starts the real binaries.

Mirrors CMake's taskgrid_e2e_test (TIMEOUT 180 -> size "medium", 300 s).
`unsandboxed` tests also run programs that are no Bazel inputs (chromium,
prometheus, node with npm packages): they run unsandboxed ("local") and are
never cached ("external").
"""

def e2e_test(name, deps = [], data = [], unsandboxed = False):
    native.cc_test(
        name = name,
        size = "medium",
        srcs = [name + ".cc"],
        data = data,
        tags = ["e2e"] + (["external", "local"] if unsandboxed else []),
        deps = [
            ":client_checks",
            ":test_cluster",
            "//clients/cpp:client",
            "@system_libs//:gmock",
            "@system_libs//:gtest_main",
        ] + deps,
    )
