/** A Node process that does nothing: the memory every service starts from. */
setInterval(() => undefined, 1 << 30);
console.log(JSON.stringify({ msg: 'idle' }));
