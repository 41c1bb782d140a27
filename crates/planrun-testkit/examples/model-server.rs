//! Runs the scripted model server by hand: `cargo run -p planrun-testkit --example model-server
//! -- SCENARIO.json`. Prints the base URL, then each request's path and the turn that answered
//! it, until interrupted. With `MODEL_SERVER_FULL=1`, whole request bodies are printed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

fn main() {
    let path = std::env::args().nth(1).expect("usage: model-server SCENARIO.json");
    let text = std::fs::read_to_string(&path).expect("cannot read the scenario");
    let server = planrun_testkit::ModelServer::start(planrun_testkit::ModelServer::scenario(&text).unwrap()).unwrap();
    println!("{}", server.url());
    let full = std::env::var_os("MODEL_SERVER_FULL").is_some();
    let mut seen = 0;
    loop {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let requests = server.requests();
        for r in requests.iter().skip(seen) {
            let body = r.body.to_string();
            let shown: String = if full { body } else { body.chars().take(300).collect() };
            eprintln!("{} turn={:?} body={shown}", r.path, r.turn);
        }
        seen = requests.len();
    }
}
