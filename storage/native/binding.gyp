{
  "targets": [
    {
      "target_name": "samsa_sendfile",
      "sources": ["sendfile.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
