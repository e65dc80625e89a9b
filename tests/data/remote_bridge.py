"""A bridge scenario without lans or peers: what `--node NAME=URL` can run on an engine netlab cannot enter."""

from netlab import Scenario

s = Scenario("remote_bridge", title="Bridges on a remote engine: reach, isolation, DNS, published port")
front = s.network("front", driver="bridge")
back = s.network("back", driver="bridge")
web = s.container("web", front, publish={8080: 80})
app = s.container("app", front)
db = s.container("db", back)
legacy = s.container("legacy", "bridge")
hostnet = s.container("hostnet", "host")

s.expect(web, app, "icmp", reachable=True)
s.expect(app, web, "tcp:80", reachable=True)
s.expect(app, db, "tcp:5432", reachable=False)
s.expect(web, db, "icmp", reachable=False)
s.expect(legacy, app, "icmp", reachable=False)
s.expect("host", web, "icmp", reachable=True)
s.expect("host", db, "tcp:5432", reachable=True)
s.expect(hostnet, legacy, "icmp", reachable=True)
s.expect(app, web, "dns:web", reachable=True)
s.expect(app, web, "dns:no-such-name.example", reachable=False)
s.expect(legacy, web, "dns:web", reachable=False)

with s.stage("moved", "db joins front") as st:
    st.connect(db, front)
    st.expect(web, db, "icmp", reachable=True)
    st.expect(app, db, "dns:db", reachable=True)

SCENARIO = s
