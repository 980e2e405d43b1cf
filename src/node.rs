//! Nodes: the actors of a simulation. Each is its own tokio task, built by a factory so that a
//! crashed node can be built again.

use std::future::Future;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::context::Context;

/// A message type: anything serde can carry. Messages cross the network as bincode bytes.
pub trait Message: Serialize + DeserializeOwned + 'static {}

impl<T: Serialize + DeserializeOwned + 'static> Message for T {}

/// An actor: a replica, a client, a server. `run` is its whole life; it owns its state, reads
/// its inbox and sends through its context. When `run` returns the node is finished.
///
/// Nodes are not `Send`: a simulation is one thread, so a node may keep `Rc`s and `RefCell`s.
#[async_trait(?Send)]
pub trait Node<M: Message>: 'static {
    /// The node's life. A crash drops this future at its current `.await`.
    async fn run(&mut self, ctx: Context<M>);
}

/// A node written as a closure: `FnNode(|ctx| async move { ... })`.
pub struct FnNode<F>(pub F);

#[async_trait(?Send)]
impl<M, F, Fut> Node<M> for FnNode<F>
where
    M: Message,
    F: FnMut(Context<M>) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    async fn run(&mut self, ctx: Context<M>) {
        (self.0)(ctx).await
    }
}
