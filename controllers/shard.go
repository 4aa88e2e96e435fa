package controllers

import "github.com/liftoff-dev/liftoff/internal/shard"

// ShardLabel puts a Liftoff object into a shard (shard.Label).
const ShardLabel = shard.Label

// Shard names the objects one controller serves (shard.Shard).
type Shard = shard.Shard

// ParseShard checks a --shard value (shard.Parse).
func ParseShard(name string) (Shard, error) { return shard.Parse(name) }
