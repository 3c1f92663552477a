module github.com/resourceequality/resourceequality/go-processor/platform/linux-amd64

go 1.26.0
