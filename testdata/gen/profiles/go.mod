module leakscope/testdata/gen/profiles

go 1.26
