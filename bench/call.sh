bench_call() { bench_note "call: todo"; }
