"""C++ messages and gRPC stubs from .proto files with Debian's protoc.

Bazel 4.2's native proto rules would download protobuf's sources; this macro
runs the installed /usr/bin/protoc and grpc_cpp_plugin instead, the way the
CMake build does (protos/CMakeLists.txt), so generated headers are included
the same way in both builds: "taskgrid/v1/scheduler.grpc.pb.h".
"""

_PROTOC = "@system_libs//:bin/protoc"
_GRPC_PLUGIN = "@system_libs//:bin/grpc_cpp_plugin"

def _package_of(label):
    """Package path of an absolute label in this repository ("//a/b:c" -> "a/b")."""
    if not label.startswith("//"):
        fail("grpc_cc_library deps must be absolute labels (//pkg:name): " + label)
    return label[2:].split(":")[0]

def grpc_cc_library(name, srcs, deps = [], visibility = None):
    """Generates <proto>.pb.{h,cc} and <proto>.grpc.pb.{h,cc} into a cc_library.

    Import paths are relative to the calling package: a file protos/a/b.proto
    (called from //protos) is imported as "a/b.proto" and its headers are
    included as "a/b.pb.h".

    Args:
      name: the cc_library; `<name>_protos` is a filegroup of `srcs` for
        other grpc_cc_library targets that import them.
      srcs: .proto files in the calling package.
      deps: other grpc_cc_library targets (absolute labels) whose protos
        these import.
      visibility: of the cc_library and of the proto filegroup.
    """
    pkg = native.package_name()
    if not pkg:
        fail("grpc_cc_library must be called from a package below the workspace root")
    native.filegroup(
        name = name + "_protos",
        srcs = srcs,
        visibility = visibility,
    )

    bases = [src[:-len(".proto")] for src in srcs]
    hdrs = [b + ".pb.h" for b in bases] + [b + ".grpc.pb.h" for b in bases]
    cc_srcs = [b + ".pb.cc" for b in bases] + [b + ".grpc.pb.cc" for b in bases]
    proto_paths = ["--proto_path=" + pkg] + [
        "--proto_path=" + _package_of(dep)
        for dep in deps
    ]

    native.genrule(
        name = name + "_gen",
        srcs = srcs + [dep + "_protos" for dep in deps],
        outs = hdrs + cc_srcs,
        tools = [_PROTOC, _GRPC_PLUGIN],
        cmd = " ".join([
            "$(location %s)" % _PROTOC,
            " ".join(proto_paths),
            "--cpp_out=$(GENDIR)/" + pkg,
            "--grpc_out=$(GENDIR)/" + pkg,
            "--plugin=protoc-gen-grpc=$(location %s)" % _GRPC_PLUGIN,
        ] + ["$(location %s)" % src for src in srcs]),
        message = "protoc + grpc_cpp_plugin for //%s:%s" % (pkg, name),
    )

    native.cc_library(
        name = name,
        srcs = cc_srcs,
        hdrs = hdrs,
        strip_include_prefix = "/" + pkg,
        deps = deps + [
            "@system_libs//:grpc++",
            "@system_libs//:protobuf",
        ],
        visibility = visibility,
    )
