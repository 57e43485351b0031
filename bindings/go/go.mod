module github.com/vecstore/vecstore/bindings/go

go 1.22
