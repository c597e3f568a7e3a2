{
  "targets": [
    {
      "target_name": "svcproxy",
      "sources": ["<!@(find native -name *.cc -type f)"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
      "libraries": ["-lmnl", "-lnftables", "-lnftnl", "-lbpf"]
    }
  ]
}
