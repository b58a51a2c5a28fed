module leakscope/testdata/gen/heapdump

go 1.26
