"""Compile-time paths to runfiles, for tests that exec or dlopen built files.

Bazel 4.2 does not expand $(rootpath ...) in `local_defines`, so the path is
computed here: for a target of this workspace it is "<package>/<name>",
relative to the runfiles root, which is where Bazel runs a test.
"""

def _rootpath(label):
    if label.startswith("@"):
        fail("only targets of this workspace are supported: " + label)
    if label.startswith(":"):
        package, name = native.package_name(), label[1:]
    elif label.startswith("//"):
        package, _, name = label[2:].partition(":")
        if not name:
            name = package.split("/")[-1]
    else:
        fail("expected //pkg:name or :name, got " + label)
    return package + "/" + name if package else name

def path_defines(defines):
    """{"MACRO": label} -> ['MACRO="package/name"', ...] for local_defines."""
    return ['%s=\\"%s\\"' % (macro, _rootpath(label)) for macro, label in defines.items()]
