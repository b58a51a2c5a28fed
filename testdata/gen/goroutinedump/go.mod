module leakscope/testdata/gen/goroutinedump

go 1.26
