module leakscope/testdata/gen/pprofserver

go 1.21
