//! Runs the scripted model server by hand: `cargo run -p planrun-testkit --example model-server
//! -- SCENARIO.json`. Prints the base URL, then each request's path and the turn that answered
//! it, until interrupted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

fn main() {
    let path = std::env::args().nth(1).expect("usage: model-server SCENARIO.json");
    let text = std::fs::read_to_string(&path).expect("cannot read the scenario");
    let server = planrun_testkit::ModelServer::start(planrun_testkit::ModelServer::scenario(&text).unwrap()).unwrap();
    println!("{}", server.url());
    let mut seen = 0;
    loop {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let requests = server.requests();
        for r in requests.iter().skip(seen) {
            eprintln!("{} turn={:?} body={}", r.path, r.turn, r.body.to_string().chars().take(300).collect::<String>());
        }
        seen = requests.len();
    }
}
