<?php
// php/stubs/rediscluster.stubs.php against the extension itself: every class, its parent,
// interfaces and constants, every method with its parameters (name, type, optional, variadic,
// by reference) and return type must be the same on both sides, and neither side may have
// one the other lacks. The extension is described by reflection in this process (run with it
// loaded); the stubs in a child PHP process without it, which loads the stub file instead.
//
//   php -d extension=PATH/librediscluster_php.so tools/php_stubs_check.php STUBS   (make check-generated)
//
// Exit status 0 when they agree, 1 with the differences listed.

declare(strict_types=1);

const EXTENSION = 'rediscluster-php';

/** @return array<string, mixed> */
function describe_class(string $name): array
{
    $class = new ReflectionClass($name);
    $methods = [];
    foreach ($class->getMethods() as $method) {
        if ($method->getDeclaringClass()->getName() !== $class->getName()) {
            continue; // inherited: described with the class that declares it
        }
        $params = [];
        foreach ($method->getParameters() as $p) {
            $params[] = sprintf(
                '%s%s$%s%s%s',
                $p->hasType() ? $p->getType() . ' ' : '',
                $p->isPassedByReference() ? '&' : '',
                $p->getName(),
                $p->isVariadic() ? '...' : '',
                $p->isOptional() && !$p->isVariadic() ? ' (optional)' : ''
            );
        }
        $methods[$method->getName()] = sprintf(
            '%s%s(%s)%s',
            $method->isStatic() ? 'static ' : '',
            $method->getName(),
            implode(', ', $params),
            $method->hasReturnType() ? ': ' . $method->getReturnType() : ''
        );
    }
    ksort($methods);
    $interfaces = $class->getInterfaceNames();
    sort($interfaces);
    $constants = $class->getConstants();
    ksort($constants);
    return [
        'parent' => $class->getParentClass() ? $class->getParentClass()->getName() : null,
        'interfaces' => $interfaces,
        'constants' => $constants,
        'methods' => $methods,
    ];
}

if (($argv[1] ?? '') === '--describe') {
    // The child: the stub file's classes, by name.
    require $argv[2];
    $out = [];
    foreach (array_slice($argv, 3) as $name) {
        $out[$name] = class_exists($name) ? describe_class($name) : null;
    }
    echo json_encode($out, JSON_PRETTY_PRINT), "\n";
    exit(0);
}

$stubs = $argv[1] ?? '';
if (!is_file($stubs) || !extension_loaded(EXTENSION)) {
    fwrite(STDERR, "usage: php -d extension=PATH tools/php_stubs_check.php STUBS\n");
    exit(2);
}
$ours = [];
foreach ((new ReflectionExtension(EXTENSION))->getClasses() as $class) {
    $ours[$class->getName()] = describe_class($class->getName());
}
ksort($ours);
// The classes the stub file declares, found by name in its text, so an extra one is seen too.
preg_match_all('/^\s*namespace\s+([\w\\\\]+)|^\s*(?:final\s+|abstract\s+)?class\s+(\w+)/m', file_get_contents($stubs), $found, PREG_SET_ORDER);
$declared = [];
$namespace = '';
foreach ($found as $match) {
    if (($match[1] ?? '') !== '') {
        $namespace = $match[1];
    } else {
        $declared[] = ltrim($namespace . '\\' . $match[2], '\\');
    }
}
$names = array_values(array_unique(array_merge(array_keys($ours), $declared)));
$command = array_merge([PHP_BINARY, '-n', __FILE__, '--describe', $stubs], $names);
$child = proc_open($command, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
$json = stream_get_contents($pipes[1]);
$errors = stream_get_contents($pipes[2]);
if (proc_close($child) !== 0) {
    fwrite(STDERR, "the stub file does not load on its own:\n$errors");
    exit(1);
}
$theirs = json_decode($json, true);

$problems = [];
foreach ($names as $name) {
    $a = $ours[$name] ?? null;
    $b = $theirs[$name] ?? null;
    if ($a === null || $b === null) {
        $problems[] = $a === null ? "$name: in the stubs, not in the extension" : "$name: in the extension, not in the stubs";
        continue;
    }
    foreach (['parent', 'interfaces', 'constants'] as $part) {
        if ($a[$part] !== $b[$part]) {
            $problems[] = "$name: $part differ: extension " . json_encode($a[$part]) . ', stubs ' . json_encode($b[$part]);
        }
    }
    foreach (array_unique(array_merge(array_keys($a['methods']), array_keys($b['methods']))) as $method) {
        $x = $a['methods'][$method] ?? '(none)';
        $y = $b['methods'][$method] ?? '(none)';
        if ($x !== $y) {
            $problems[] = "$name::$method: extension $x, stubs $y";
        }
    }
}
if ($problems) {
    fwrite(STDERR, "$stubs is out of date (make php-stubs):\n  " . implode("\n  ", $problems) . "\n");
    exit(1);
}
$methods = array_sum(array_map(fn ($c) => count($c['methods']), $ours));
echo "$stubs matches the extension: " . count($ours) . " classes, $methods methods\n";
