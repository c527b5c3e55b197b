bench_build() { bench_note "build: todo"; }
