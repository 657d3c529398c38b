"""Worker plugins: CMake's taskgrid_add_plugin (services/worker/CMakeLists.txt)."""

def taskgrid_plugin(name, srcs, deps = [], **kwargs):
    """Builds lib<name>.so for `taskgrid-worker --plugin`.

    The library is compiled against declarations only (deps such as
    //services/worker:plugin_api) and leaves taskgrid's symbols undefined: the
    worker exports them (-rdynamic) and the dynamic loader resolves them.
    """
    native.cc_binary(
        name = "lib%s.so" % name,
        srcs = srcs,
        linkshared = True,
        deps = deps,
        **kwargs
    )
