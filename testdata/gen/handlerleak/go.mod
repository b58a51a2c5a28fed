module leakscope/testdata/gen/handlerleak

go 1.26
