/** Options given to `MessagingModule.forRoot`. */
export const MESSAGING_OPTIONS = Symbol('cyborg:messaging-options');
/** The underlying Nest `ClientProxy` (NATS), e.g. for `emit`. */
export const RPC_CLIENT_PROXY = Symbol('cyborg:rpc-client-proxy');
