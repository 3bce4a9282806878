//! The RPC server against a real dev node: WebSocket subscriptions, limits (rate, batch,
//! body), and bad parameters answered with errors that name the field.

use crate::common::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tungstenite::Message;

type Socket = tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<std::net::TcpStream>>;

fn connect(port: u16) -> Socket {
    let (socket, _) = tungstenite::connect(format!("ws://127.0.0.1:{port}")).unwrap();
    if let tungstenite::stream::MaybeTlsStream::Plain(stream) = socket.get_ref() {
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
    }
    socket
}

fn send(socket: &mut Socket, request: Value) {
    socket.send(Message::text(request.to_string())).unwrap();
}

fn receive(socket: &mut Socket) -> Value {
    loop {
        match socket.read().unwrap() {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected message {other:?}"),
        }
    }
}

/// Subscribes; returns the subscription id.
fn subscribe(socket: &mut Socket, method: &str, params: Value) -> Value {
    send(
        socket,
        json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}),
    );
    let answer = receive(socket);
    let id = answer["result"].clone();
    assert!(id.is_u64() || id.is_string(), "{method}: {answer}");
    id
}

#[test]
fn websocket_subscriptions_deliver_every_block_and_each_epochs_rewards() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("dev");
    let port = free_port();
    let _node = start_dev_with(&data, 100, port, &["--devices", "6"]);
    let rpc = Rpc::new(port);
    wait_for_height(&rpc, 1, Duration::from_secs(30));

    let mut blocks = connect(port);
    let id = subscribe(&mut blocks, "chain_subscribeBlocks", json!([]));
    let mut heights = Vec::new();
    while heights.len() < 5 {
        let note = receive(&mut blocks);
        assert_eq!(note["method"], json!("chain_block"));
        assert_eq!(note["params"]["subscription"], id);
        let block = &note["params"]["result"];
        heights.push(block["height"].as_u64().unwrap());
        // What the subscription says matches what the node serves.
        let served = rpc.ok("chain_getBlock", json!([block["hash"]]));
        assert_eq!(served["height"], block["height"]);
    }
    assert!(heights.windows(2).all(|w| w[1] == w[0] + 1), "{heights:?}");

    let owner = std::fs::read_to_string(data.join("dev-account.key"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("address = \""))
        .unwrap()
        .trim_end_matches('"')
        .to_string();
    // Unfiltered: the epoch's device rewards plus its coverage payout add up to what it paid.
    // Filtered by the dev account: only its devices (the fleet spreads over several owners).
    let mut all = connect(port);
    subscribe(&mut all, "chain_subscribeRewards", json!([]));
    let mut rewards = connect(port);
    subscribe(
        &mut rewards,
        "chain_subscribeRewards",
        json!({ "owner": owner }),
    );
    let amount = |r: &Value| r["amount"].as_str().unwrap().parse::<u128>().unwrap();
    let mut paid_devices = 0;
    let started = Instant::now();
    while paid_devices < 5 {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "no epoch paid the fleet"
        );
        let note = receive(&mut all);
        assert_eq!(note["method"], json!("chain_rewards"));
        let result = &note["params"]["result"];
        let epoch = result["summary"]["epoch"].as_u64().unwrap();
        let list = result["rewards"].as_array().unwrap();
        let sum: u128 = list.iter().map(amount).sum();
        let coverage: u128 = result["coverage"]["paid"]
            .as_str()
            .map_or(0, |p| p.parse().unwrap());
        let paid: u128 = result["summary"]["paid"].as_str().unwrap().parse().unwrap();
        assert_eq!(sum + coverage, paid, "epoch {epoch}");
        paid_devices = list.len();

        let mine = receive(&mut rewards);
        let mine = &mine["params"]["result"];
        assert_eq!(mine["summary"]["epoch"], json!(epoch));
        let mine = mine["rewards"].as_array().unwrap();
        assert!(mine.iter().all(|r| r["owner"] == json!(owner)));
        assert!(mine.len() <= list.len());
    }
    // A bad filter is refused at subscribe time.
    send(
        &mut rewards,
        json!({"jsonrpc": "2.0", "id": 2, "method": "chain_subscribeRewards", "params": {"owner": "nope"}}),
    );
    loop {
        let answer = receive(&mut rewards);
        if answer["id"] == json!(2) {
            assert_eq!(answer["error"]["code"], json!(-32602), "{answer}");
            break;
        }
    }
}

fn error(answer: &Value) -> (i64, String) {
    (
        answer["error"]["code"].as_i64().unwrap_or(0),
        answer["error"]["message"]
            .as_str()
            .unwrap_or("")
            .to_string(),
    )
}

#[test]
fn limits_and_bad_parameters_are_answered_and_the_node_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("dev");
    let port = free_port();
    let _node = start_dev_with(&data, 200, port, &["--rpc-rate-limit", "20"]);
    let rpc = Rpc::new(port);
    wait_for_height(&rpc, 1, Duration::from_secs(30));

    // Wrong types and unknown or malformed parameters name the field.
    for (method, params, field) in [
        ("account_get", json!([5]), "address"),
        ("device_get", json!(["gw1notadevice"]), "device"),
        (
            "device_list",
            json!({"owner": "gw1x", "limit": "ten"}),
            "owner",
        ),
        ("device_list", json!({"cell": "zz"}), "cell"),
        (
            "device_list",
            json!({"cell": "85283473fffffff", "limit": 0}),
            "limit",
        ),
        ("device_list", json!({}), "owner"),
        (
            "rewards_get",
            json!({"device": "gwd1x", "epoch": -1}),
            "device",
        ),
        ("epoch_get", json!({"epoch": "first"}), "epoch"),
        ("epoch_get", json!({"era": 1}), "era"),
        ("state_proof", json!({}), "account"),
        ("state_getProof", json!({}), "account"),
        ("chain_getBlock", json!([[1]]), "block"),
    ] {
        let (code, message) = error(&rpc.call(method, params.clone()));
        assert_eq!(code, -32602, "{method} {params}: {message}");
        assert!(
            message.contains(&format!("`{field}`")),
            "{method} {params}: {message}"
        );
    }
    let (code, _) = error(&rpc.call("epoch_get", json!([7])));
    assert_eq!(code, 4004, "an epoch that has not ended");

    // A batch over the limit of 64 calls is refused whole; one at the limit is answered.
    let batch = |n: usize| {
        Value::Array(
            (0..n)
                .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "chain_status", "params": []}))
                .collect(),
        )
        .to_string()
    };
    let (_, answer) = rpc.raw(batch(65));
    assert_eq!(answer["error"]["code"], json!(-32010), "{answer}");
    std::thread::sleep(Duration::from_secs(4));
    let (_, answer) = rpc.raw(batch(10));
    assert_eq!(answer.as_array().map(Vec::len), Some(10), "{answer}");

    // Too many requests: 20 per second with bursts of 40 from one address.
    std::thread::sleep(Duration::from_secs(3));
    let mut refused = 0;
    let mut answered = 0;
    for _ in 0..120 {
        let answer = rpc.call("chain_status", json!([]));
        match answer["error"]["code"].as_i64() {
            Some(4029) => refused += 1,
            None => answered += 1,
            other => panic!("unexpected {other:?}: {answer}"),
        }
    }
    assert!(refused > 0, "no call was rate limited");
    assert!(answered >= 40, "the burst was not allowed: {answered}");
    // After a pause the address is served again, and blocks kept coming throughout.
    std::thread::sleep(Duration::from_secs(2));
    let height = rpc.height();
    wait_for_height(&rpc, height + 2, Duration::from_secs(30));
}

/// A TCP connection to the node from `source` (another loopback address than the client's).
fn tcp_from(source: &str, port: u16) -> std::net::TcpStream {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
        let stream = socket
            .connect(format!("127.0.0.1:{port}").parse().unwrap())
            .await
            .unwrap();
        let stream = stream.into_std().unwrap();
        stream.set_nonblocking(false).unwrap();
        stream
    })
}

#[test]
fn idle_connections_from_one_address_cannot_lock_out_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("dev");
    let port = free_port();
    let _node = start_dev_with(&data, 200, port, &["--rpc-idle-timeout", "3"]);
    let rpc = Rpc::new(port);
    wait_for_height(&rpc, 1, Duration::from_secs(30));

    // The attacker, at 127.0.0.2, opens 300 WebSocket connections and leaves them idle.
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..300 {
        let stream = tcp_from("127.0.0.2", port);
        match tungstenite::client(format!("ws://127.0.0.1:{port}"), stream) {
            Ok((socket, _)) => held.push(socket),
            Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(response))) => {
                assert_eq!(response.status(), 429);
                refused += 1;
            }
            Err(other) => panic!("unexpected handshake result: {other:?}"),
        }
    }
    println!(
        "connections: {} of 300 held by one address, {refused} answered 429",
        held.len()
    );
    assert_eq!(held.len(), 32, "the per-address cap");
    // Everyone else is still served, at once.
    let started = Instant::now();
    for _ in 0..20 {
        rpc.ok("chain_status", json!([]));
    }
    assert!(started.elapsed() < Duration::from_secs(5));

    // A subscriber that reads stays connected though it hears nothing for longer than the
    // idle timeout: its WebSocket library answers the server's pings.
    let mut quiet = connect(port);
    let nobody = "gw10efk76c6t7xaqp9jrhwyzx0yy852axrvpaw3j0";
    subscribe(
        &mut quiet,
        "chain_subscribeRewards",
        json!({ "owner": nobody }),
    );
    if let tungstenite::stream::MaybeTlsStream::Plain(stream) = quiet.get_ref() {
        stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
    }
    let listening = Instant::now();
    let mut pings = 0;
    while listening.elapsed() < Duration::from_secs(7) {
        match quiet.read() {
            Ok(Message::Ping(_)) => pings += 1,
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(other) => panic!("a reading subscriber was cut off: {other}"),
        }
    }
    assert!(pings >= 2, "{pings} pings in 7 s");

    // Idle connections are closed after the idle timeout (3 s; the server's pings go unanswered
    // since nobody reads), and the address may connect again.
    let socket = held.first_mut().unwrap();
    socket
        .get_ref()
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let started = Instant::now();
    let closed = loop {
        match socket.read() {
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            Ok(Message::Close(_)) | Err(_) => break true,
            Ok(_) => break false,
        }
    };
    assert!(closed, "an idle connection stays open");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "closed after {:?}",
        started.elapsed()
    );
    wait_until(
        Duration::from_secs(10),
        "the address to be allowed again",
        || {
            tungstenite::client(
                format!("ws://127.0.0.1:{port}"),
                tcp_from("127.0.0.2", port),
            )
            .is_ok()
        },
    );
}
