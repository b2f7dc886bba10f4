// Command floor measures the floors berth's deploy is compared with in
// scripts/bench-deploy.sh, with client-go (an independent client, not berth's):
//
//	floor apply FILE...  server-side applies every object of the YAML files
//	                     (namespaces first, then all the rest at once, up to
//	                     -parallel in flight) and prints "write S"; with -wait
//	                     it then waits until every Deployment and StatefulSet
//	                     of the files' namespaces is rolled out and ready and
//	                     prints "ready S", the time from the last write.
//	floor list FILE...   one label-selected LIST per kind and namespace of the
//	                     files' objects, all at once; prints "read S".
//
// Discovery (mapping kinds to resources) happens before the clock starts.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: floor apply|list [-parallel N] [-wait] [-manager M] FILE...")
		os.Exit(2)
	}
	mode := os.Args[1]
	flags := flag.NewFlagSet(mode, flag.ExitOnError)
	parallel := flags.Int("parallel", 128, "requests in flight")
	wait := flags.Bool("wait", false, "wait for the workloads to be ready (apply)")
	manager := flags.String("manager", "floor-bench", "field manager")
	selector := flags.String("selector", "app.kubernetes.io/instance", "label key the lists select on (list)")
	flags.Parse(os.Args[2:])
	if err := run(mode, flags.Args(), *parallel, *wait, *manager, *selector); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

type object struct {
	u       *unstructured.Unstructured
	mapping *meta.RESTMapping
}

func run(mode string, files []string, parallel int, wait bool, manager, selector string) error {
	config, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		clientcmd.NewDefaultClientConfigLoadingRules(), &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return err
	}
	// No client-side rate limit: the floor is the server's.
	config.QPS = 1e6
	config.Burst = 1e6
	client, err := dynamic.NewForConfig(config)
	if err != nil {
		return err
	}
	disco, err := discovery.NewDiscoveryClientForConfig(config)
	if err != nil {
		return err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco))
	var objects []object
	for _, file := range files {
		docs, err := read(file)
		if err != nil {
			return err
		}
		for _, u := range docs {
			gvk := u.GroupVersionKind()
			mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			if err != nil {
				return fmt.Errorf("%s: %w", gvk, err)
			}
			objects = append(objects, object{u, mapping})
		}
	}
	ctx := context.Background()
	switch mode {
	case "apply":
		return apply(ctx, client, objects, parallel, wait, manager)
	case "list":
		return list(ctx, client, objects, selector)
	}
	return fmt.Errorf("unknown mode %q", mode)
}

func read(file string) ([]*unstructured.Unstructured, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := decoder.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

func resource(client dynamic.Interface, o object) dynamic.ResourceInterface {
	r := client.Resource(o.mapping.Resource)
	if o.mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		return r.Namespace(o.u.GetNamespace())
	}
	return r
}

func applyOne(ctx context.Context, client dynamic.Interface, o object, manager string) error {
	body, err := o.u.MarshalJSON()
	if err != nil {
		return err
	}
	force := true
	_, err = resource(client, o).Patch(ctx, o.u.GetName(), types.ApplyPatchType, body,
		metav1.PatchOptions{FieldManager: manager, Force: &force})
	if err != nil {
		return fmt.Errorf("%s %s/%s: %w", o.u.GetKind(), o.u.GetNamespace(), o.u.GetName(), err)
	}
	return nil
}

// all runs f over items with at most parallel in flight; the first error.
func all[T any](items []T, parallel int, f func(T) error) error {
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	slots := make(chan struct{}, parallel)
	for _, item := range items {
		wg.Add(1)
		slots <- struct{}{}
		go func(item T) {
			defer wg.Done()
			defer func() { <-slots }()
			if err := f(item); err != nil {
				once.Do(func() { first = err })
			}
		}(item)
	}
	wg.Wait()
	return first
}

func apply(ctx context.Context, client dynamic.Interface, objects []object, parallel int, wait bool, manager string) error {
	var namespaces, rest []object
	for _, o := range objects {
		if o.u.GetKind() == "Namespace" {
			namespaces = append(namespaces, o)
		} else {
			rest = append(rest, o)
		}
	}
	start := time.Now()
	write := func(o object) error { return applyOne(ctx, client, o, manager) }
	if err := all(namespaces, parallel, write); err != nil {
		return err
	}
	if err := all(rest, parallel, write); err != nil {
		return err
	}
	written := time.Now()
	fmt.Printf("write %.3f\n", written.Sub(start).Seconds())
	if !wait {
		return nil
	}
	var workloads []object
	for _, o := range rest {
		if o.u.GetKind() == "Deployment" || o.u.GetKind() == "StatefulSet" {
			workloads = append(workloads, o)
		}
	}
	deadline := written.Add(3 * time.Minute)
	for _, o := range workloads {
		for {
			live, err := resource(client, o).Get(ctx, o.u.GetName(), metav1.GetOptions{})
			if err == nil && ready(live) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s %s/%s not ready after 3m", o.u.GetKind(), o.u.GetNamespace(), o.u.GetName())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	fmt.Printf("ready %.3f\n", time.Since(written).Seconds())
	return nil
}

// ready: the controller saw the last write and every replica is updated,
// ready and available, with no old ones left.
func ready(u *unstructured.Unstructured) bool {
	num := func(path ...string) int64 {
		v, _, _ := unstructured.NestedInt64(u.Object, path...)
		return v
	}
	want, found, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
	if !found {
		want = 1
	}
	if num("status", "observedGeneration") < u.GetGeneration() {
		return false
	}
	if num("status", "updatedReplicas") != want || num("status", "readyReplicas") != want || num("status", "replicas") != want {
		return false
	}
	if u.GetKind() == "Deployment" {
		return num("status", "availableReplicas") == want
	}
	current, _, _ := unstructured.NestedString(u.Object, "status", "currentRevision")
	update, _, _ := unstructured.NestedString(u.Object, "status", "updateRevision")
	return current == update
}

func list(ctx context.Context, client dynamic.Interface, objects []object, selector string) error {
	type collection struct {
		o     object
		value string
	}
	seen := map[string]bool{}
	var collections []collection
	for _, o := range objects {
		key := o.mapping.Resource.String() + "/" + o.u.GetNamespace()
		if !seen[key] {
			seen[key] = true
			collections = append(collections, collection{o, o.u.GetLabels()[selector]})
		}
	}
	start := time.Now()
	err := all(collections, len(collections)+1, func(c collection) error {
		_, err := resource(client, c.o).List(ctx, metav1.ListOptions{LabelSelector: selector + "=" + c.value})
		return err
	})
	if err != nil {
		return err
	}
	fmt.Printf("read %.3f\n", time.Since(start).Seconds())
	return nil
}
