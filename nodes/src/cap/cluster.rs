//! Putting a cluster into a simulation: replicas `r0..`, clients `c0..` (client i next to
//! replica i mod nodes, over a LAN link), the replica network, and the helpers a scenario
//! needs to cut it (the sides of a partition).

use std::time::Duration;

use faultline::{Command, LinkConfig, NodeId, Sim, SimBuilder, SimTime};

use super::Msg;
use super::analysis::Span;
use super::client::{Client, client_name};
use super::config::{ClientConfig, ClusterConfig, ConfigError, MAX_REGION_LINKS, PartitionConfig, Regions};
use super::observer::Observer;
use super::replica::{Replica, Setup, replica_name};
use super::ring::Ring;

/// The layout of an installed cluster: which node is which.
#[derive(Clone, Debug)]
pub struct Cluster {
    /// Number of replicas.
    pub nodes: usize,
    /// Number of clients.
    pub clients: usize,
    /// The ring placing keys.
    pub ring: Ring,
}

impl Cluster {
    /// The replica client `i` sits next to.
    pub fn client_home(&self, i: usize) -> usize {
        i % self.nodes
    }

    /// The minority a default partition cuts off: the upper ⌊(nodes − 1) / 2⌋ replicas (none
    /// with fewer than three).
    pub fn minority(&self) -> Vec<usize> {
        (self.nodes - (self.nodes - 1) / 2..self.nodes).collect()
    }

    /// The nodes on the side of `replicas`: those replicas and the clients next to them.
    pub fn side(&self, sim: &Sim<Msg>, replicas: &[usize]) -> Vec<NodeId> {
        let mut out: Vec<NodeId> = replicas.iter().filter_map(|&r| sim.node_id(&replica_name(r))).collect();
        out.extend(
            (0..self.clients)
                .filter(|&c| replicas.contains(&self.client_home(c)))
                .filter_map(|c| sim.node_id(&client_name(c))),
        );
        out
    }

    /// Checks `partition` against this cluster and a run of length `run`, and schedules it on
    /// `sim`: the cut (minority side, with its clients, against the rest) and the heal.
    /// Returns its span and its sides, majority first, for [`analysis::by_side`](super::analysis::by_side).
    pub fn schedule_partition(
        &self,
        sim: &Sim<Msg>,
        partition: &PartitionConfig,
        run: Duration,
    ) -> Result<(Span, Vec<Vec<NodeId>>), ConfigError> {
        partition.validate(self.nodes, run)?;
        let majority_replicas: Vec<usize> = (0..self.nodes).filter(|r| !partition.minority.contains(r)).collect();
        let (minority, majority) = (self.side(sim, &partition.minority), self.side(sim, &majority_replicas));
        let span = Span { from: SimTime::ZERO + partition.at, to: SimTime::ZERO + partition.at + partition.duration };
        let refused = |what| move |e: faultline::ControlError| ConfigError::Schedule { what, reason: e.to_string() };
        sim.schedule(span.from, Command::partition(vec![minority.clone(), majority.clone()]))
            .map_err(refused("the partition"))?;
        sim.schedule(span.to, Command::heal()).map_err(refused("the heal"))?;
        Ok((span, vec![majority, minority]))
    }

    /// Replica `i`'s node.
    pub fn replica(&self, sim: &Sim<Msg>, i: usize) -> Option<NodeId> {
        sim.node_id(&replica_name(i))
    }

    /// Client `i`'s node.
    pub fn client(&self, sim: &Sim<Msg>, i: usize) -> Option<NodeId> {
        sim.node_id(&client_name(i))
    }
}

/// Checks both configs and adds the cluster to `builder`: the replicas, the clients, the
/// default link (replica network) and each client's LAN link to its replica (both ways). A
/// replica's messages to itself take no time. More links can be set on the returned builder
/// (regions, per-link distributions).
pub fn install(
    builder: SimBuilder<Msg>,
    cluster: &ClusterConfig,
    clients: &ClientConfig,
    observer: &Observer,
) -> Result<(SimBuilder<Msg>, Cluster), ConfigError> {
    let setup = Setup::new(cluster, clients, observer)?;
    let ring = setup.ring.clone();
    let mut b = builder.default_link(LinkConfig::with_latency(cluster.net_latency.clone()));
    for i in 0..cluster.nodes {
        let s = setup.clone();
        let name = replica_name(i);
        b = b.node(&name, move || Replica::new(i as u32, s.clone()));
        b = b.link(&name, &name, LinkConfig::constant(Duration::ZERO));
    }
    let lan = LinkConfig::with_latency(cluster.client_latency.clone());
    for i in 0..clients.clients {
        let s = setup.clone();
        let (name, home) = (client_name(i), replica_name(i % cluster.nodes));
        b = b.node(&name, move || Client::new(i as u32, s.clone()));
        b = b.link(&name, &home, lan.clone()).link(&home, &name, lan.clone());
    }
    if let Some(regions) = &cluster.regions {
        b = region_links(b, regions, cluster.nodes, clients.clients)?;
    }
    Ok((b, Cluster { nodes: cluster.nodes, clients: clients.clients, ring }))
}

/// Sets the links between regions: every pair of replicas in different regions, and every
/// client with every replica outside its own replica's region (both ways), at that pair of
/// regions' latency. At most [`MAX_REGION_LINKS`] pairs.
fn region_links(
    mut b: SimBuilder<Msg>,
    regions: &Regions,
    nodes: usize,
    clients: usize,
) -> Result<SimBuilder<Msg>, ConfigError> {
    let pairs = (nodes + clients).saturating_mul(nodes);
    if pairs > MAX_REGION_LINKS {
        return Err(ConfigError::Range {
            field: "regions",
            value: format!("{nodes} replicas and {clients} clients"),
            allowed: format!("at most {MAX_REGION_LINKS} (replicas + clients) x replicas pairs with regions"),
        });
    }
    let n = regions.count;
    let links: Vec<Option<LinkConfig>> = (0..n * n)
        .map(|ab| (ab / n != ab % n).then(|| LinkConfig::with_latency(regions.between(ab / n, ab % n).clone())))
        .collect();
    let link = |a: usize, b: usize| links[a * n + b].clone().expect("a link between two different regions");
    for i in 0..nodes {
        for j in (0..nodes).filter(|&j| regions.of(i) != regions.of(j)) {
            b = b.link(&replica_name(i), &replica_name(j), link(regions.of(i), regions.of(j)));
        }
    }
    for c in 0..clients {
        let home = regions.of(c % nodes);
        for j in (0..nodes).filter(|&j| regions.of(j) != home) {
            let l = link(home, regions.of(j));
            b = b.link(&client_name(c), &replica_name(j), l.clone()).link(&replica_name(j), &client_name(c), l);
        }
    }
    Ok(b)
}
